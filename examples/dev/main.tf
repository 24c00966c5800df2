resource "aws_s3_bucket" "scratch" {
  # checkov:skip=CKV2_AWS_62:Dev scratch bucket needs no event notifications (SEC-1234)
  bucket = "acme-dev-scratch"
}

resource "aws_s3_bucket_versioning" "scratch" {
  bucket = aws_s3_bucket.scratch.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_security_group" "debug" {
  name        = "debug"
  description = "Debug access"

  ingress {
    description = "HTTP from office"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
