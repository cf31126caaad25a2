import numpy as np
import numpy.typing as npt

def histogram(
    logits: npt.NDArray[np.float32],
    max_logit: float,
    bins_per_logit: float,
    counts: npt.NDArray[np.int32],
    head_limit: int,
    head_ids: npt.NDArray[np.int32],
    work: npt.NDArray[np.int32],
) -> tuple[int, int]: ...
def tail_sums(
    counts: npt.NDArray[np.uint16] | npt.NDArray[np.int32],
    first_bin: int,
    bins_per_logit: float,
    temperature: float,
) -> tuple[float, float]: ...
def head_sums(
    head_logits: npt.NDArray[np.float32], max_logit: float, temperature: float
) -> tuple[float, float]: ...
def select_head(
    logits: npt.NDArray[np.float32],
    max_logit: float,
    bins_per_logit: float,
    counts: npt.NDArray[np.int32],
    candidates: npt.NDArray[np.int32],
    n_candidates: int,
    candidate_bin: int,
    margin_bins: int,
    head_min: int,
    head_max: int,
    out_ids: npt.NDArray[np.int32],
    out_logits: npt.NDArray[np.float32],
) -> tuple[int, int]: ...
