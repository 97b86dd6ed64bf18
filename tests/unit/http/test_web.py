"""The page may fetch parked results from the bucket and POST uploads to it, and reach nowhere else."""

from function.http.web import result_origins
from function.settings import Settings


def test_results_come_from_the_buckets_own_s3_hosts_never_a_wildcard():
    origins = result_origins(Settings(aws_bucket_name="photos", aws_region="eu-west-1", aws_endpoint_url_s3=None))

    assert "https://photos.s3.eu-west-1.amazonaws.com" in origins and "https://photos.s3.amazonaws.com" in origins
    assert all(origin.startswith("https://photos.") and "*" not in origin for origin in origins)


def test_results_in_another_bucket_and_uploads_to_the_input_bucket_or_a_local_s3_or_none():
    elsewhere = Settings(aws_bucket_name="in", output_bucket="out", aws_region="us-east-1", aws_endpoint_url_s3=None)
    local = Settings(aws_bucket_name="local-bucket", aws_endpoint_url_s3="http://127.0.0.1:8091")

    origins = result_origins(elsewhere)
    assert "https://out.s3.amazonaws.com" in origins and "https://in.s3.amazonaws.com" in origins  # results, uploads
    assert all(origin.startswith(("https://out.", "https://in.")) for origin in origins)
    assert result_origins(local) == ["http://127.0.0.1:8091"]
    assert result_origins(Settings(aws_bucket_name=None, output_bucket=None, aws_endpoint_url_s3=None)) == []
