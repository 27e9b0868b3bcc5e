{%- from tpldir ~ '/map.jinja' import svc1 with context %}
svc1-pkg:
  pkg.installed:
    - name: {{ svc1.pkg }}
{%- for extra in svc1.pkg_extra %}
svc1-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
