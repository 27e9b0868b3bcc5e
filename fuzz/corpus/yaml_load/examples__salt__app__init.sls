include:
  - nginx

app_checkout:
  git.latest:
    - name: {{ salt['pillar.get']('app:repo') }}
    - target: /srv/app
    - rev: {{ salt['pillar.get']('app:rev', 'main') }}
    - require_in:
      - service: nginx
