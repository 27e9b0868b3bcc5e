environment: production
