{%- for name, user in salt['pillar.get']('users', {}).items() %}
{{ name }}:
  user.present:
    - shell: {{ user.get('shell', '/bin/bash') }}
    - groups: {{ user.get('groups', []) | json }}
    {%- if user.uid is defined %}
    - uid: {{ user.uid }}
    {%- endif %}
{%- endfor %}
