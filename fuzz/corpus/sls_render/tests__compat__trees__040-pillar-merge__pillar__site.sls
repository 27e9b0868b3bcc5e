app:
  port: 8080
  hosts: [c]
  opts:
    level: 2
    extra: yes
users: [alice]
