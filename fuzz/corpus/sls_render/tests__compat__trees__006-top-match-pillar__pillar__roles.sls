role: web
tier:
  name: frontend
features:
  - tls
  - http2
