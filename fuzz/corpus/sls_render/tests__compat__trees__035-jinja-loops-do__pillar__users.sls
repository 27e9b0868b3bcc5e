users:
  alice: {uid: 1001, shell: /bin/zsh}
  bob: {uid: 1002}
  carol: {uid: 1003, absent: true}
  dave: {uid: 1004}
