"""The partner portal: a partner's own balance, rules, accruals, codes and documents."""
