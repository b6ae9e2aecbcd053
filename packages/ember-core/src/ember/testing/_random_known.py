"""Known answers for ``ember.random``: numbers every backend must draw, and the Random123
known-answer vectors that show ember's generator is Philox4x32-10.

``KNOWN`` maps a case id of ``_random_cases`` to the first eight values of its draw with
``ember.random.key(0)`` (recorded once; uniform, integer and boolean draws must match exactly,
normal ones to the case's ulps). ``kat_draw`` runs the Random123 vectors (``tests/kat_vectors``
of github.com/DEShawResearch/random123) through the generator in ember ops on the backend, and
checks the stream layout against Philox computed on Python ints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import ember

__all__ = ["KNOWN", "RANDOM123", "kat_draw", "kat_vector_check", "stream_check"]

#: (counter, key, result), hex words as in Random123's ``kat_vectors`` ("philox4x32 10" lines)
RANDOM123 = (
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
)

KNOWN: dict[str, tuple[Any, ...]] = {
    'random.bits-words': (1713891541, 3781805453, 3159862348, 2600524760, 4175744164, 1555169499, 2980410603, 159317863),
    'random.uniform-float16-unit': (0.39892578125, 0.88037109375, 0.73583984375, 0.60546875, 0.97216796875, 0.362060546875, 0.69384765625, 0.037078857421875),
    'random.normal-float16-standard': (-0.45556640625, -0.09796142578125, -0.755859375, 0.9365234375, 0.07415771484375, 0.880859375, -0.84619140625, -2.0390625),
    'random.truncated_normal-float16-pm2': (-0.243896484375, 1.0947265625, 0.59765625, 0.255126953125, 1.65234375, -0.336181640625, 0.48193359375, -1.5703125),
    'random.uniform-bfloat16-unit': (0.3984375, 0.87890625, 0.734375, 0.60546875, 0.97265625, 0.361328125, 0.6953125, 0.037109375),
    'random.normal-bfloat16-standard': (-0.455078125, -0.09814453125, -0.75390625, 0.9375, 0.07421875, 0.8828125, -0.84765625, -2.03125),
    'random.truncated_normal-bfloat16-pm2': (-0.244140625, 1.09375, 0.59765625, 0.255859375, 1.6484375, -0.3359375, 0.482421875, -1.5703125),
    'random.uniform-float32-unit': (0.3990464210510254, 0.8805201649665833, 0.7357127666473389, 0.6054818034172058, 0.9722411632537842, 0.362091064453125, 0.6939308643341064, 0.037094056606292725),
    'random.normal-float32-standard': (-0.4554799795150757, -0.09793484956026077, -0.7558338642120361, 0.9364327788352966, 0.07414502650499344, 0.8809332251548767, -0.8460818529129028, -2.0384600162506104),
    'random.truncated_normal-float32-pm2': (-0.2439369559288025, 1.0948388576507568, 0.5977233648300171, 0.25511375069618225, 1.6522091627120972, -0.33618423342704773, 0.48202788829803467, -1.5704399347305298),
    'random.uniform-float64-unit': (0.39904642638796806, 0.8805201916775858, 0.7357127964228642, 0.6054818514267462, 0.9722411843105103, 0.3620910677675201, 0.693930879854248, 0.037094065576755764),
    'random.normal-float64-standard': (1.1465774743620918, -0.4779162656624269, -0.7834704921675774, 0.3420845209624898, -0.14338903673562944, 1.3392670456318558, -0.05573889853259076, 1.5022196620929855),
    'random.truncated_normal-float64-pm2': (-0.24393691152372174, 1.0948390506059693, 0.5977235695179007, 0.25511380593196664, 1.6522096084065616, -0.336184260546217, 0.4820280042414594, -1.5704398593444528),
    'random.uniform-float32-low-high': (0.19237136840820312, 4.044161319732666, 2.885702133178711, 1.8438544273376465, 4.777929306030273, -0.103271484375, 2.5514469146728516, -2.703247547149658),
    'random.uniform-complex128-complex': ((0.39904642638796806+0.4641310851495952j), (0.8805201916775858+0.557809514371725j), (0.7357127964228642+0.7947030441605281j), (0.6054818514267462+0.934711453111107j), (0.9722411843105103+0.1466371695714781j), (0.3620910677675201+0.05153042652045603j), (0.693930879854248+0.7772794385196797j), (0.037094065576755764+0.5620948026271783j)),
    'random.normal-float32-loc-scale': (0.633560061454773, 1.7061954736709595, -0.2675015926361084, 4.809298515319824, 2.2224349975585938, 4.642799377441406, -0.538245677947998, -4.11538028717041),
    'random.normal-complex64-complex': ((0.810752809047699+0.5112311244010925j), (-0.3379378616809845+0.11419478803873062j), (-0.553997278213501+0.0015650102868676186j), (0.24189026653766632-0.6657475829124451j), (-0.10139132291078568+0.1336829662322998j), (0.9470047950744629+0.34502357244491577j), (-0.039413172751665115+0.6031827330589294j), (1.062229871749878+1.4717222452163696j)),
    'random.truncated_normal-float32-one-sided': (0.5214821696281433, 1.5470256805419922, 1.1116852760314941, 0.8485120534896851, 2.1650519371032715, 0.4692562222480774, 1.0195485353469849, 0.04638161510229111),
    'random.randint-int8-range': (1, 9, 6, 4, 10, 0, 6, -5),
    'random.randint-uint8-range': (4, 9, 8, 6, 10, 3, 7, 0),
    'random.randint-int32-range': (1, 9, 6, 4, 10, 0, 6, -5),
    'random.randint-int64-range': (1, 9, 6, 4, 10, 0, 6, -5),
    'random.randint-int64-wide': (-221999158739, 836772764389, 518337894655, 231957049756, 1038469384372, -303264844260, 426458601093, -1017940881843),
    'random.randint-int64-full': (-1862263918984165422, 7019358705539419856, 4348133409812547920, 1945796763242925123, 8711312585505381760, -2543969898674243768, 3577394032800207737, -8539107024954777373),
    'random.randint-uint64-full': (7361108117870610386, 16242730742394195664, 13571505446667323728, 11169168800097700931, 17934684622360157568, 6679402138180532040, 12800766069654983545, 684265011899998435),
    'random.randint-int16-all-values': (6, 14, 11, 9, 15, 5, 11, 0),
    'random.bernoulli-p': (False, False, False, False, False, False, False, True),
    'random.bernoulli-tensor-p': (True, False, True, True, False, True, True, True),
    'random.categorical-logits': (1, 1, 0, 2, 2, 1, 1, 1),
    'random.categorical-batch-shape': (1, 1, 0, 2, 2, 1, 1, 1),
    'random.permutation-int': (5586, 1466, 2391, 8299, 8834, 9286, 7741, 2293),
    'random.permutation-n': (5586, 1466, 2391, 8299, 8834, 9286, 7741, 2293),
    'random.permutation-rows': (5586, 5586, 1466, 1466, 2391, 2391, 8299, 8299),
    'nn.dropout-rate': (2.6666667461395264, 2.6666667461395264, 2.6666667461395264, 2.6666667461395264, 2.6666667461395264, 2.6666667461395264, 2.6666667461395264, 0.0),
    "random.bits-composite": (1713891541, 3781805453, 3159862348, 2600524760, 4175744164, 1555169499, 2980410603, 159317863),
    "random.bits-chunks": (1713891541, 3781805453, 3159862348, 2600524760, 4175744164, 1555169499, 2980410603, 159317863),
    "random.bits-composite-chunks": (1713891541, 3781805453, 3159862348, 2600524760, 4175744164, 1555169499, 2980410603, 159317863),
    # the raw key 0 is Philox's key (0, 0): its first block is Random123's first vector
    "random.bits-key-zero": RANDOM123[0][2],
}


def kat_draw(k: Any, backend: str, dtype: Any) -> ember.Tensor:
    """The Random123 vectors through ember's Philox in ember ops on ``backend``: (3, 4) words."""
    from ember.ops._random._philox import philox4x32

    b = ember.load_backend(backend)
    rows = []
    for counter, key, _ in RANDOM123:
        x = tuple(ember.asarray([c], dtype=ember.int64, backend=b) for c in counter)
        rows.append(ember.concat(philox4x32(x, key, b, None)))  # type: ignore[arg-type]
    return ember.stack(rows)


def kat_vector_check(a: np.ndarray) -> None:
    want = np.array([r for _, _, r in RANDOM123], dtype=np.int64)
    assert np.array_equal(a, want), (
        f"Philox4x32-10 of the Random123 vectors gave {[[hex(v) for v in r] for r in a]}, "
        f"expected {[[hex(v) for v in r] for r in want]}")


def stream_check(a: np.ndarray) -> None:
    """Words of key 0's stream against Philox on Python ints: block j of the key's value
    encrypts the counter (j mod 2**32, j >> 32, 0, 0) into words 4j .. 4j+3."""
    from ember.ops._random._philox import philox4x32_scalar

    value = ember.random.key(0).value
    k = (value & 0xFFFFFFFF, value >> 32)
    last = (a.size - 1) // 4  # a partial block when the size is not a multiple of 4
    blocks = {*range(min(8, last + 1)), last} | {j for j in (2**15 - 1, 2**15) if j <= last}
    for j in sorted(blocks):
        got = tuple(int(v) for v in a[4 * j:4 * j + 4])
        want = philox4x32_scalar((j & 0xFFFFFFFF, j >> 32, 0, 0), k)[:len(got)]
        assert got == want, f"words {4 * j}..{4 * j + len(got) - 1}: {got}, Philox gives {want}"
