terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

# An S3 bucket for customer exports: no encryption, no versioning, no public access block.
resource "aws_s3_bucket" "exports" {
  bucket = "acme-prod-exports"

  tags = {
    owner       = "data-platform"
    environment = "prod"
  }
}

# SSH open to the world.
resource "aws_security_group" "bastion" {
  name        = "bastion"
  description = "Bastion host access"
  vpc_id      = var.vpc_id

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_db_instance" "orders" {
  identifier          = "orders"
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  allocated_storage   = 20
  username            = "orders"
  password            = var.db_password
  storage_encrypted   = false
  publicly_accessible = false
  skip_final_snapshot = true
}

module "network" {
  source = "git::https://github.com/acme/terraform-network.git"
  cidr   = "10.0.0.0/16"
}
