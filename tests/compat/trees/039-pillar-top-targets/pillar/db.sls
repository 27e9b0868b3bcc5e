db: {password: secret}
