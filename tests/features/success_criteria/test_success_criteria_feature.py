"""Success Criteria and Post-Deployment Watch."""

from pytest_bdd import scenarios

scenarios("success_criteria.feature")
