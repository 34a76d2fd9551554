"""Discussion strategies, one per panel type, and the registry that picks one."""

from ask_panel.domain.status import PanelType
from ask_panel.domain.strategies.adversarial import AdversarialStrategy
from ask_panel.domain.strategies.delphi import DelphiStrategy
from ask_panel.domain.strategies.open import OpenStrategy
from ask_panel.domain.strategies.port import Discussion, StanceRequest, Strategy
from ask_panel.domain.strategies.socratic import SocraticStrategy
from ask_panel.domain.strategies.speakers import Speaker
from ask_panel.domain.strategies.structured import StructuredStrategy

STRATEGIES: dict[PanelType, Strategy] = {
    PanelType.STRUCTURED: StructuredStrategy(),
    PanelType.OPEN: OpenStrategy(),
    PanelType.SOCRATIC: SocraticStrategy(),
    PanelType.ADVERSARIAL: AdversarialStrategy(),
    PanelType.DELPHI: DelphiStrategy(),
}


def strategy_for(panel_type: PanelType) -> Strategy:
    return STRATEGIES[panel_type]


__all__ = ["STRATEGIES", "Discussion", "Speaker", "StanceRequest", "Strategy", "strategy_for"]
