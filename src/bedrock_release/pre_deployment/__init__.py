"""Pre-deployment evidence (plan phase 1) and the approvals that rest on it: producers and strict readers.

Layout, formats and signatures: docs/contracts.md "Pre-deployment evidence"; rationale and limits:
docs/pre-deployment-evidence.md.
"""

from bedrock_release.pre_deployment.allure import read_allure_results, tree_sha256
from bedrock_release.pre_deployment.business_impact import (
    BusinessImpact,
    produce_business_impact,
    read_business_impact,
)
from bedrock_release.pre_deployment.check import PieceResult, check_evidence
from bedrock_release.pre_deployment.drill import DrillRecord, DrillTier, read_drill_record, write_drill_record
from bedrock_release.pre_deployment.errors import EvidenceError, ProductionError
from bedrock_release.pre_deployment.junit import SuiteCounts
from bedrock_release.pre_deployment.keys import ensure_sandbox_keys, load_sandbox_trusted_keys
from bedrock_release.pre_deployment.layout import SUITES, EvidencePaths, default_evidence_dir
from bedrock_release.pre_deployment.pip_audit import PipAuditFinding, PipAuditResult, read_pip_audit
from bedrock_release.pre_deployment.risk_acceptance import (
    RiskAcceptance,
    read_risk_acceptance,
    sign_risk_acceptance,
)
from bedrock_release.pre_deployment.sandbox_approvals import (
    ApprovalRefused,
    ReleaseApprovals,
    accept_sandbox_stale_database,
    check_release_approvals,
    sign_sandbox_approvals,
)
from bedrock_release.pre_deployment.security_scan import (
    SecurityReport,
    import_security_scan,
    produce_security_scan,
    read_security_scan,
)
from bedrock_release.pre_deployment.staging import (
    StagingResults,
    import_staging_results,
    produce_staging_results,
    read_staging_results,
)
from bedrock_release.pre_deployment.training import (
    TrainingRecord,
    produce_training_record,
    read_training_record,
)

__all__ = [
    "SUITES",
    "ApprovalRefused",
    "BusinessImpact",
    "DrillRecord",
    "DrillTier",
    "EvidenceError",
    "EvidencePaths",
    "PieceResult",
    "PipAuditFinding",
    "PipAuditResult",
    "ProductionError",
    "ReleaseApprovals",
    "RiskAcceptance",
    "SecurityReport",
    "StagingResults",
    "SuiteCounts",
    "TrainingRecord",
    "accept_sandbox_stale_database",
    "check_evidence",
    "check_release_approvals",
    "default_evidence_dir",
    "ensure_sandbox_keys",
    "import_security_scan",
    "import_staging_results",
    "load_sandbox_trusted_keys",
    "produce_business_impact",
    "produce_security_scan",
    "produce_staging_results",
    "produce_training_record",
    "read_allure_results",
    "read_business_impact",
    "read_drill_record",
    "read_pip_audit",
    "read_risk_acceptance",
    "read_security_scan",
    "read_staging_results",
    "read_training_record",
    "sign_risk_acceptance",
    "sign_sandbox_approvals",
    "tree_sha256",
    "write_drill_record",
]
