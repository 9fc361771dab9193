"""sellertoken: a token broker for Amazon's Selling Partner API."""
