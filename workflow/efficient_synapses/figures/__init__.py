"""Figure drawing: every function reads saved numbers and only draws."""
