ntp_servers: [0.pool.ntp.org, 1.pool.ntp.org]
minion_id: {{ grains['id'] }}
family: {{ grains['os_family'] }}
{%- if grains['os'] == 'Debian' %}
pkg_manager: apt
{%- else %}
pkg_manager: other
{%- endif %}
