# One image for both functions; template.yaml picks the handler per function with
# ImageConfig.Command. The AWS base image is multi-arch (x86_64 and arm64): `sam build`
# builds for the template's Architecture parameter.
FROM public.ecr.aws/lambda/python:3.12

# What the function reads at run time (names match function/settings.py) and what the
# numba cold-start fix needs (rembg imports pymatting, which compiles ~30 numba kernels at
# import: ~35 s with no usable cache, and numba only uses a cache directory it can write to):
#  - NUMBA_CPU_NAME=generic: compile for a generic CPU, so a cache built on the build machine
#    stays valid on whatever CPU Lambda runs us on.
#  - NUMBA_CACHE_DIR: numba only uses a cache it can write to, and on Lambda only /tmp is
#    writable; the function copies the cache baked below into this directory at init,
#    before anything imports rembg.
#  - ORT_DISABLE_TELEMETRY: onnxruntime's Linux wheels (1.31) send usage events to Microsoft over
#    HTTPS and try to store a device id under HOME; nothing of this service should leave AWS.
ENV NUMBA_CPU_NAME=generic \
    ORT_DISABLE_TELEMETRY=1 \
    NUMBA_CACHE_DIR=/tmp/numba_cache \
    NUMBA_BAKED_CACHE_DIR=${LAMBDA_TASK_ROOT}/numba_cache \
    U2NET_HOME=${LAMBDA_TASK_ROOT}/models \
    POWERTOOLS_TRACE_DISABLED=true \
    MODEL_NAME=u2net

# Dependencies first: this layer is reused until requirements.txt changes.
# Lambda runs the code as a non-root user: everything under the task root must be
# world-readable. Fix modes in the same RUN that wrote the files (a later chmod layer
# would copy every file into a second layer) and only touch files that need it.
COPY requirements.txt ${LAMBDA_TASK_ROOT}/
RUN pip install --no-cache-dir -r ${LAMBDA_TASK_ROOT}/requirements.txt --target ${LAMBDA_TASK_ROOT} \
 && find ${LAMBDA_TASK_ROOT} \( -type d ! -perm -a+rx -o -type f ! -perm -a+r \) -exec chmod a+rX {} +

# Only what the build step runs is copied first, so a code change elsewhere in function/ does
# not re-run it (and re-download 176 MB of model).
COPY function/__init__.py function/settings.py function/errors.py ${LAMBDA_TASK_ROOT}/function/
COPY function/imaging/__init__.py function/imaging/prepare.py function/imaging/model_files.py ${LAMBDA_TASK_ROOT}/function/imaging/

# Build step: models and caches, baked into the image (nothing is downloaded at run time).
# `python -m function.imaging.prepare` is the same code the local set-up and the tests run:
#  - the model(s): u2net through rembg's own md5-checked downloader (needs the internet,
#    which the Docker build has); MODELS="u2net u2netp" also bakes the small model
#    (template.yaml passes that through DockerBuildArgs so ModelName can be either);
#  - THE NUMBA CACHE IS BAKED HERE, by this same command: prepare imports rembg with
#    NUMBA_CPU_NAME=generic and writes the compiled pymatting kernels into a directory
#    inside the image, which the function copies to $NUMBA_CACHE_DIR (/tmp) at init.
#    Without it every cold start recompiles for ~35 s.
ARG MODELS="u2net"
RUN python -m function.imaging.prepare ${MODELS} \
 && find ${LAMBDA_TASK_ROOT} \( -type d ! -perm -a+rx -o -type f ! -perm -a+r \) -exec chmod a+rX {} +

# The rest of the code; its .pyc files are compiled now because the task root is read-only on Lambda.
COPY function/ ${LAMBDA_TASK_ROOT}/function/
RUN python -m compileall -q ${LAMBDA_TASK_ROOT}/function \
 && find ${LAMBDA_TASK_ROOT}/function \( -type d ! -perm -a+rx -o -type f ! -perm -a+r \) -exec chmod a+rX {} +

# Default handler (the HTTP function); the S3 function overrides it in template.yaml.
CMD ["function.handlers.http_handler"]
