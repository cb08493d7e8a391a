export { ControlPlane, type ControlPlaneOptions } from './control-plane.js';
export type { ApplyOutcome, DeclaredAction, DeclaredChange, DeclaredKind } from './declarative-applier.js';
