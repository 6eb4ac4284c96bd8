"""wgdroid's bundled userspace WireGuard: protocol core in `core/`, pipeline and I/O here.

Run it as `wgdroid-userspace [-f] IFACE` (see `__main__` for the environment
knobs); it is a drop-in for wireguard-go under wg-quick. docs/dataplane.md
describes the design and how it is measured.

Modules outside `core/`:

- `queues`: per-peer ordered queues and shared crypto queues, bounded by items
  and bytes, with the NEW/FINISHED/DEAD unit state (the GSoC 2017 design, docs/dataplane.md);
- `workers`: crypto worker pools (inline, threads, processes over shared memory)
  and distribution policies (round robin, least loaded);
- `pipeline`: TX/RX units per peer through the queues and a pool, completed
  strictly in order;
- `buffers`: the preallocated packet memory (fixed pools, shared with worker
  processes when they are used);
- `kernels`, `accel`: the crypto stage (TSO/USO segmentation, checksums, seal,
  open) in pure Python and, optionally, compiled;
- `tun`, `gro`, `udp`, `netlink`: the TUN (virtio header, TSO/USO in, coalesced
  writes out), the IPv4/IPv6 UDP sockets (GSO out, GRO in, fwmark), rtnetlink
  link events;
- `uapi_server`, `uapi_config`: the UAPI Unix socket and get/set semantics;
- `loop`, `daemon`: the epoll loop and the process wiring it all together.
"""
