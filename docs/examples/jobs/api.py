"""Background jobs from Python: enqueue, run one with a worker, read, cancel."""

from baryon import Conflict, Settings, Workspace
from baryon.commerce.orgs import create_org
from baryon.jobs import JobQueue, Worker, builtin_handlers

with Workspace.open(Settings()) as ws:  # BARYON_HOME
    with ws.db.session() as session:
        org = create_org(session, name="acme")
    queue = JobQueue(ws.db, ws.clock)
    job = queue.enqueue("sleep", {"seconds": 0.2}, org_id=org.id, max_attempts=3)
    print(queue.get(job.id, org_id=org.id).status)  # queued
    Worker(ws, builtin_handlers()).run_once()  # claim and run one job
    done = queue.get(job.id, org_id=org.id)
    print(done.status, done.progress, done.attempts)  # succeeded 100.0 1
    try:
        queue.cancel(job.id, org_id=org.id)
    except Conflict as exc:
        print(exc.code)  # job_finished: it already succeeded
