// esbuild copies only the `id` field of plugin.json into the bundle.
import { id } from "../../plugin.json";

export const pluginId: string = id;
