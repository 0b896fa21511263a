"""MediaPipe face-mesh indices the rig and the motion model rely on (subject's left/right).

Eye "A" is the one with corners 33/133 (the subject's right eye, on the image's left); eye "B"
has corners 263/362.
"""

from __future__ import annotations

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109)

# Inner lip contour, left corner → right corner along the upper lip, then back along the lower.
INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
MOUTH_CORNERS = (61, 291, 78, 308)
# The rows between the inner and outer contours (lip body), corner to corner.
UPPER_SEMI = (184, 74, 73, 72, 11, 302, 303, 304, 408, 183, 42, 41, 38, 12, 268, 271, 272, 407)
LOWER_SEMI = (96, 89, 179, 86, 15, 316, 403, 319, 325, 77, 90, 180, 85, 16, 315, 404, 320, 307)
SEMI_CORNERS = (62, 292, 76, 306)
LIP_TOP_MID = 13
LIP_BOTTOM_MID = 14

# Eyelid margins, outer corner → inner corner, upper and lower paired index by index.
EYE_A_CORNERS = (33, 133)
EYE_A_UPPER = (246, 161, 160, 159, 158, 157, 173)
EYE_A_LOWER = (7, 163, 144, 145, 153, 154, 155)
EYE_A_CREASE = (247, 30, 29, 27, 28, 56, 190)
EYE_A_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
EYE_A_BROW_INNER = (107, 66, 55, 65)
EYE_A_IRIS = (468, 469, 470, 471, 472)

EYE_B_CORNERS = (263, 362)
EYE_B_UPPER = (466, 388, 387, 386, 385, 384, 398)
EYE_B_LOWER = (249, 390, 373, 374, 380, 381, 382)
EYE_B_CREASE = (467, 260, 259, 257, 258, 286, 414)
EYE_B_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
EYE_B_BROW_INNER = (336, 296, 285, 295)
EYE_B_IRIS = (473, 474, 475, 476, 477)

CHEEKS = (205, 425, 50, 280, 187, 411, 207, 427)
NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10


def eye_contour(upper: tuple[int, ...], lower: tuple[int, ...],
                corners: tuple[int, int]) -> tuple[int, ...]:
    """Closed eye contour: outer corner, upper lid, inner corner, lower lid back."""
    return (corners[0], *upper, corners[1], *reversed(lower))


EYE_A_CONTOUR = eye_contour(EYE_A_UPPER, EYE_A_LOWER, EYE_A_CORNERS)
EYE_B_CONTOUR = eye_contour(EYE_B_UPPER, EYE_B_LOWER, EYE_B_CORNERS)
INNER_LIP_CONTOUR = (*INNER_UPPER, *reversed(INNER_LOWER[1:-1]))
