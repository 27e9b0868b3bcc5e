deploy:
  user.present:
    - shell: /bin/bash
