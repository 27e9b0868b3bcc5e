k:
  services:
    http: {protocol: tcp}
    139: {protocol: udp}
