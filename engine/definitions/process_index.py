"""Index the processes of the BPMN files: ids unique, every file holding a process."""

from __future__ import annotations

from collections.abc import Mapping

from engine.definitions.documents import _bpmn, _CheckedProcess, _Document, _Process
from engine.definitions.files import _is_element, _qname, _where
from engine.definitions.results import Problem
from engine.definitions.vocabulary import _FLOW_NODE_TAGS, BPMN_NS, MAX_NAME_LENGTH


def _index_processes(docs: Mapping[str, _Document], problems: list[Problem]) -> dict[str, _Process]:
    """Every process of every BPMN file by id; report ids used twice and elements without ids."""
    processes: dict[str, _Process] = {}
    for doc in docs.values():
        _check_ids(doc, problems)
        for node in doc.root.findall(_bpmn("process")):
            key = node.get("id")
            if not key:
                problems.append(
                    Problem(_where(node), "the process has no id (the id is its process key)", doc.name)
                )
                continue
            if key in processes:
                other = processes[key].doc.name
                where = "elsewhere in this file" if other == doc.name else f"in {other}"
                problems.append(Problem(key, f"the process id is also used {where}", doc.name))
                continue
            executable = (node.get("isExecutable") or "false").strip().lower() == "true"
            processes[key] = _Process(key, doc, node, executable)
    return processes


def _check_ids(doc: _Document, problems: list[Problem]) -> None:
    seen: set[str] = set()
    for node in doc.root.iter():
        if not _is_element(node):
            continue
        namespace, local = _qname(node)
        if namespace != BPMN_NS:
            continue
        node_id = node.get("id")
        if node_id is None:
            if local in _FLOW_NODE_TAGS or local == "sequenceFlow":
                problems.append(Problem(_where(node), "the element has no id; give it one", doc.name))
            continue
        if node_id in seen:
            problems.append(Problem(node_id, "two elements have this id", doc.name))
        seen.add(node_id)
        if len(node_id) > MAX_NAME_LENGTH and local in _FLOW_NODE_TAGS:
            problems.append(
                Problem(node_id[:40] + "…", f"the id is longer than {MAX_NAME_LENGTH} characters", doc.name)
            )


def _report_files_without_process(
    docs: Mapping[str, _Document],
    processes: Mapping[str, _Process],
    checked: Mapping[str, _CheckedProcess],
    problems: list[Problem],
) -> None:
    for doc in docs.values():
        in_file = [p for p in processes.values() if p.doc is doc]
        if any(p.key in checked for p in in_file):
            continue
        if in_file:
            message = 'no process is marked executable (isExecutable="true"), so there is nothing to run'
        elif doc.root.find(_bpmn("process")) is None:
            message = "the file holds no process"
        else:
            continue  # its processes were reported already (no id, duplicate id)
        problems.append(Problem(doc.name, message))
