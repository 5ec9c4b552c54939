/** Test support shared by every suite. */
export {};
