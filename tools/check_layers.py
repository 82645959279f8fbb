#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The layering of user/, checked against user/LAYERS.

Every #include "..." of every file under user/ is resolved to the folder
that holds the header, and must be one the file's folder may include: its
own, include/procbind/, or one its row of the table names. A header named
*_priv.h is its own folder's alone; only user/state.h includes the
FOLDER_state.h headers of folders its includer may not include. The table
itself must be in order (a row names only folders above it), and the
README's Layout must show it as it is.

usage: check_layers.py SOURCE_DIR    (exit 0: clean; 1: what is wrong, one
line each, file:line first)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_table(path):
    rows, order = {}, []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            name, _, rest = line.partition(':')
            name = name.strip()
            if name == 'state':
                deps = []
            else:
                deps = rest.split()
            rows[name] = (deps, n)
            order.append(name)
    return rows, order


def table_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            out.append(' '.join(line.split()))
    return out


def main(src):
    problems = []
    table = os.path.join(src, 'user', 'LAYERS')
    rows, order = read_table(table)
    # the table is in order: a row names only the folders above it
    for i, name in enumerate(order):
        for d in rows[name][0]:
            if d not in rows:
                problems.append(f'user/LAYERS:{rows[name][1]}: {name} names {d}, no such row')
            elif order.index(d) >= i:
                problems.append(f'user/LAYERS:{rows[name][1]}: {name} may include {d}, '
                                f'which is not below it')
    # every folder of user/ has a row
    user = os.path.join(src, 'user')
    folders = sorted(d for d in os.listdir(user) if os.path.isdir(os.path.join(user, d)))
    for d in folders:
        if d not in rows:
            problems.append(f'user/{d}/: no row in user/LAYERS')
    # where each header lives
    where = {}
    for d in folders:
        for f in os.listdir(os.path.join(user, d)):
            if f.endswith('.h'):
                if f in where:
                    problems.append(f'user/{d}/{f}: a header of that name is in user/{where[f]}/ too')
                where[f] = d
    where['state.h'] = 'state'
    where['procbind.skel.h'] = 'kernel'
    # every include
    files = [('state', os.path.join(user, 'state.h'))]
    for d in folders:
        for f in sorted(os.listdir(os.path.join(user, d))):
            if f.endswith(('.c', '.h')):
                files.append((d, os.path.join(user, d, f)))
    for folder, path in files:
        rel = os.path.relpath(path, src)
        text = open(path).read()
        for m in INCLUDE.finditer(text):
            h = m.group(1)
            line = text.count('\n', 0, m.start()) + 1
            at = f'{rel}:{line}: #include "{h}"'
            if h.startswith('procbind/') and h != 'procbind.skel.h':
                continue
            hf = where.get(h)
            if hf is None:
                problems.append(f'{at}: not a header of user/ or include/procbind/')
                continue
            if hf == folder:
                continue
            if folder == 'state':
                if h != f'{hf}_state.h':
                    problems.append(f'{at}: state.h composes the FOLDER_state.h headers only')
                continue
            if h.endswith('_priv.h'):
                problems.append(f'{at}: {h} is private to user/{hf}/')
                continue
            if hf not in rows.get(folder, ([], 0))[0]:
                if folder == 'ctl' and hf in order and order.index(hf) >= order.index('state'):
                    why = 'the CLI includes nothing of the agent\'s'
                elif hf in order and folder in order and order.index(hf) > order.index(folder):
                    why = f'user/{hf}/ is above user/{folder}/'
                else:
                    why = f'user/{folder}/ may not include user/{hf}/ (user/LAYERS)'
                problems.append(f'{at}: {why}')
    # the README shows the table as it is
    readme = open(os.path.join(src, 'README.md')).read()
    block = '\n'.join(table_lines(table))
    shown = '\n'.join(' '.join(l.split()) for l in readme.splitlines())
    if block not in shown:
        problems.append('README.md: the Layout does not show user/LAYERS as it is '
                        '(its rows, in order)')
    for p in problems:
        print(p)
    if not problems:
        print(f'layers: {len(files)} files of user/ include only what user/LAYERS allows '
              f'({len(order)} layers)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else '.'))
