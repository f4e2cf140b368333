// LayeredPackage's provider object as this module's exports, so that Pulumi stores it as a require of this path (see
// ../dynamicProvider.ts). The path is part of every state file written with it: keep it.
import { makeDynamicProvider } from "../dynamicProvider";
export = makeDynamicProvider("LayeredPackage");
