"""Redis-backed state: each store builds its keys through core.keys and runs its Lua from lua/."""
