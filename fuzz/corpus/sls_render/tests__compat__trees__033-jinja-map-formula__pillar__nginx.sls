nginx:
  lookup:
    service:
      enable: false
  config:
    worker_processes: 4
