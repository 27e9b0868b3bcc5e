app:
  port: 8080
  users:
    zed: 2001
    amy: 2002
