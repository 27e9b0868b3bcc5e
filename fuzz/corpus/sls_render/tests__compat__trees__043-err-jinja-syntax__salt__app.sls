# A Jinja syntax error: a missing operator between two expressions.
app:
  file.managed:
    - name: /etc/app.conf
    - contents: {{ grains['os'] grains['id'] }}
