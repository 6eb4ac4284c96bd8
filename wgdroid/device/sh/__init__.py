"""The phone's side of wgdroid: POSIX sh files, shipped as package data.

Each operation is ONE script in ONE su call (one adb round trip), built by
`wgdroid.device.script.Script`:

    prelude     NAME='value' lines: the layout's paths and the protocol's
                constants (Layout.constants) that the script uses, each
                validated and quoted
    lib.sh ...  the files the operation names, each after the ones its
                `# needs:` line names (comment lines are dropped on the way),
                and of their functions only those the call lines reach
                (script.needed: a function travels if a kept one names it)
    as_root     root scripts only: uid 0 or stop, then the granted tag
    setup       umask 077, PATH, wg's environment, traps, the budget
    op_X 'arg'  the call line; every argument validated, then quoted

Files: lib.sh (records, failures, steps, temp files, bounded steps, tunnel
locks), dialect.sh (which wg-quick), tunnel.sh (up/down, backends, enable,
disable), net.sh (push onto a running tunnel: `wg syncconf`, then addresses,
routes, MTU through net_* functions that a netd bring-up can replace),
store.sh (list, pull, push, rm, rename), status.sh, doctor.sh,
tools.sh (tools status/install/remove), detect.sh (the shell-user wrapper
that finds how to get root, then runs the root script).

Conventions: POSIX sh that runs under mksh with toybox (Android 14) and dash
(`shellcheck -s sh` clean); no `local`, so a function's variables carry its
own prefix (`_up_n`); values are always quoted; mksh does not pass fds opened
by `exec` to commands, so fds that children need are opened on a command.

Output is records (script.RECORDS): `rec KIND FIELD...` on stdout, `fail
KIND VALUE...` (failures.FAILURES says what KIND means) and `step NAME` on
stderr. To add a record kind: `rec` it in the sh file, add a RecordKind to
script.RECORDS, read it with `records(stdout, KIND)`. To add a failure:
`fail KIND VALUE...` in the sh file and a Failure in failures.FAILURES.
"""
