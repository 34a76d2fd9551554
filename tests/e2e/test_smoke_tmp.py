import time

import httpx2

from tests.e2e.conftest import events_of, run_to_end


async def test_smoke(client: httpx2.AsyncClient) -> None:
    for t in ["structured", "open", "socratic", "adversarial", "delphi"]:
        t0 = time.perf_counter()
        pid, frames = await run_to_end(client, panel_type=t)
        ev = events_of(frames)
        print(
            t,
            len(frames),
            len(ev),
            round(time.perf_counter() - t0, 2),
            [f.event for f in ev][-3:],
            sum(len(f.data or "") for f in ev),
        )
    print(frames[0])
