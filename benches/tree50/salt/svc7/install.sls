{%- from tpldir ~ '/map.jinja' import svc7 with context %}
svc7-pkg:
  pkg.installed:
    - name: {{ svc7.pkg }}
{%- for extra in svc7.pkg_extra %}
svc7-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
