{%- from tpldir ~ '/map.jinja' import svc0 with context %}
svc0-pkg:
  pkg.installed:
    - name: {{ svc0.pkg }}
{%- for extra in svc0.pkg_extra %}
svc0-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
