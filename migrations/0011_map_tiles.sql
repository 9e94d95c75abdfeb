-- The Cameras map's tile server (issue 7, item 3). map_tile_url NULL turns the map off; the
-- defaults (OpenStreetMap's tile server, as DEFAULT_MAP_TILE_URL in shared/api/map.ts) apply to
-- organisations that saved settings before this migration.
ALTER TABLE org_settings ADD COLUMN map_tile_url TEXT DEFAULT 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';
ALTER TABLE org_settings ADD COLUMN map_attribution TEXT NOT NULL DEFAULT '© OpenStreetMap contributors';
