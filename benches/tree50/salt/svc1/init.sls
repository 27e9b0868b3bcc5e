include:
  - .install
  - .config
  - .service
  - .users
