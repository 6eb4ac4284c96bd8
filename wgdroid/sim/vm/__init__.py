"""The VM phone: the same simulator, run inside a qemu guest with Debian's kernel,
so tunnels use the real WireGuard kernel module (docs/vm-phone.md).

- `image`: Debian's kernel and modules, unpacked once into a cache; the initramfs.
- `boot`: the initramfs /init, the guest's address and control port (shared with the guest).
- `wgdroid.sim.vm_guest` (runs inside the VM, beside the daemon it wraps): init, modules,
  and the simulator behind the control port.
- `machine` (host): qemu, the control channel, port forwards.
- `phones` (host): the VM's phones as the simulator daemon lists and drives them.
"""
