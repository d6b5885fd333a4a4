from ci_gate.cli import main_entry

main_entry()
