"""Start-up and build: the numba cache and lazy rembg import (coldstart), model files and their optimised copies, the build-time prepare step."""
