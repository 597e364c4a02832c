"""Bridge networking: networks (bridge + IPAM + firewall), container endpoints (netns + veth), published
ports, /etc files and the embedded DNS resolver.

Modules: ``store`` (state tables, stdlib), ``ipam`` (subnets and addresses, pure), ``etcfiles`` (hosts,
resolv.conf, hostname rendering), ``dns`` (packet codec, stdlib), ``resolver`` (per-container DNS server,
stdlib), ``ports`` (host port checks and ``docker port`` formatting), ``netns`` / ``bridge`` (links through
``rtnl``, our own small rtnetlink client), ``firewall`` (iptables rules tagged per root), ``manager`` (the
facade the engine calls).
"""
