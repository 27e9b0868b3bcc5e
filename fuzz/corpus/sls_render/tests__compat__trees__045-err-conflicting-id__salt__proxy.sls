# The same ID as in web.sls: IDs must be unique across the whole highstate.

nginx:
  service.running: []
