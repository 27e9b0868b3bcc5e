base:
  '*':
    - site.web.server
