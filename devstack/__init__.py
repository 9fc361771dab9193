"""The embedded local stack: moto, the Amazon simulator, a local API Gateway. Never imported by lambdas/."""
