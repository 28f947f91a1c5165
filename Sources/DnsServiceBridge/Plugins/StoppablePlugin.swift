/// A plugin with background work (a file watcher) that must end when its server instance stops, for
/// example when a reload replaces the instance.
protocol StoppablePlugin: QueryPlugin {
    /// Ends the background work; queries may still be answered from what was loaded.
    func stop()
}
