# Execution modules called from Jinja whose answers do not depend on the host
# (beyond what every Linux host has), log calls that render to nothing, and opts.
{%- do salt['log.debug']('rendering probes for ' ~ grains['id']) %}
{%- do salt['log.info']('info line') %}
{%- do salt['log.warning']('warning line') %}
{%- set root = salt['user.info']('root') %}
probes:
  test.nop:
    - dirname: {{ salt['file.dirname']('/etc/nginx/sites-enabled/default') }}
    - dirname_trailing: {{ salt['file.dirname']('/etc/nginx/') }}
    - basename: {{ salt['file.basename']('/etc/nginx/nginx.conf') }}
    - join: {{ salt['file.join']('/etc', 'nginx', 'conf.d') }}
    - echo: {{ salt['cmd.run']('echo hi') }}
    - echo_noshell: {{ salt['cmd.run']('echo a | wc -w') }}
    - echo_shell: {{ salt['cmd.run']('echo a b | wc -w', python_shell=True) }}
    - shell_false_rc: {{ salt['cmd.retcode']('exit 3', python_shell=True) }}
    - passwd_exists: {{ salt['file.file_exists']('/etc/passwd') }}
    - nothing_exists: {{ salt['file.file_exists']('/nonexistent/brine') }}
    - dir_exists: {{ salt['file.directory_exists']('/etc') }}
    - root_uid: {{ root['uid'] }}
    - root_gid: {{ root.gid }}
    - root_name: {{ root['name'] }}
    - root_home: {{ root['home'] }}
    - log_returns: "{{ salt['log.debug']('x') }}"
    - opts_id: {{ opts['id'] }}
    - opts_file_client: {{ opts['file_client'] }}
    - opts_saltenv: {{ opts.get('saltenv') }}
    - grains_id: {{ grains['id'] }}
    - test_true: {{ salt['test.true']() }}
    - test_echo: {{ salt['test.echo']('echoed') }}
