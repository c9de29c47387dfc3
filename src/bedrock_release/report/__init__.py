"""The evidence of a run for people and auditors: report.json, its renderings, Allure, bundle, status."""
