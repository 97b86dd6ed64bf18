# One image for both functions; template.yaml picks the handler per function with
# ImageConfig.Command. The AWS base image is multi-arch (x86_64 and arm64), and so is the lock:
# `sam build` builds for the template's Architecture parameter.
# Every RUN is a step of container/build_steps.py; tests/integration/test_image_build.py runs
# these same lines without Docker.
FROM public.ecr.aws/lambda/python:3.12

# What the function reads at run time (names match function/settings.py), and numba's settings
# for the cache the prepare step bakes (function/runtime/coldstart.py says why):
#  - NUMBA_CPU_NAME=generic: a cache built on the build machine stays valid on Lambda's CPU.
#  - NUMBA_CACHE_DIR: numba only uses a cache it can write to, and on Lambda only /tmp is
#    writable; the function copies the baked cache there at init.
#  - ORT_DISABLE_TELEMETRY: onnxruntime's Linux wheels send usage events and try to store a device
#    id under HOME; nothing of this service should leave AWS.
ENV NUMBA_CPU_NAME=generic \
    ORT_DISABLE_TELEMETRY=1 \
    NUMBA_CACHE_DIR=/tmp/numba_cache \
    NUMBA_BAKED_CACHE_DIR=${LAMBDA_TASK_ROOT}/numba_cache \
    U2NET_HOME=${LAMBDA_TASK_ROOT}/models \
    POWERTOOLS_TRACE_DISABLED=true \
    MODEL_NAME=u2net

# The build steps and the lock stay outside the task root: they never run on Lambda.
ARG BUILD_STEPS=/build
# pip's cache would only add to the layer.
ARG PIP_NO_CACHE_DIR=1

# Dependencies first: this layer is reused until the lock (or the build steps) change.
COPY requirements.lock container/build_steps.py ${BUILD_STEPS}/
RUN python ${BUILD_STEPS}/build_steps.py dependencies ${BUILD_STEPS}/requirements.lock ${LAMBDA_TASK_ROOT}

# Only what the prepare step runs is copied before it, so a code change elsewhere in function/
# does not download the model again.
COPY function/__init__.py function/settings.py function/errors.py ${LAMBDA_TASK_ROOT}/function/
COPY function/runtime/__init__.py function/runtime/prepare.py function/runtime/model_files.py \
     function/runtime/model_catalog.py ${LAMBDA_TASK_ROOT}/function/runtime/

# Models and numba's cache, baked in: nothing is downloaded at run time.
#  - each model comes through rembg's own md5-checked downloader (the build has the internet);
#    any of function/runtime/model_catalog.py's names. template.yaml passes its ModelName and
#    u2netp, so the deployed model is always baked and u2netp can be asked for per request.
#  - NUMBA_BAKED_CACHE_DIR (above) makes prepare compile pymatting's kernels into the image;
#    without that cache every cold start would compile them again.
ARG MODELS="u2net"
RUN python ${BUILD_STEPS}/build_steps.py prepare ${LAMBDA_TASK_ROOT} ${MODELS}

# The rest of the code, byte-compiled now because the task root is read-only on Lambda.
COPY function/ ${LAMBDA_TASK_ROOT}/function/
RUN python ${BUILD_STEPS}/build_steps.py compile ${LAMBDA_TASK_ROOT}

# Default handler (the HTTP function); the S3 function overrides it in template.yaml.
CMD ["function.handlers.http_handler"]
